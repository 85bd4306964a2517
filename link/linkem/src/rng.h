/*
 * Seeded PRNG: xoshiro256** seeded through splitmix64. Each (seed, stream) pair gives an
 * independent sequence, so every random choice (loss, jitter) of every direction has its own stream
 * and toggling one feature never shifts another's draws.
 */
#ifndef LINKEM_RNG_H
#define LINKEM_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Stream ids: direction * RNG_STREAMS_PER_DIR + kind. */
enum rng_kind { RNG_LOSS = 0, RNG_JITTER = 1, RNG_STREAMS_PER_DIR = 16 };

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);

#endif
