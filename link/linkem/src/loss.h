/*
 * Loss models, decided per packet at enqueue with netem's semantics (sch_netem.c loss_event):
 * Bernoulli, Gilbert-Elliott (gemodel p r 1-h 1-k) and the 4-state Markov model (state p13 p31 p32
 * p23 p14). Probabilities are stored as fractions in [0, 1].
 */
#ifndef LINKEM_LOSS_H
#define LINKEM_LOSS_H

#include <stdbool.h>

#include "rng.h"

enum loss_kind { LOSS_NONE, LOSS_RANDOM, LOSS_GE, LOSS_4STATE };

/* Gilbert-Elliott: the state the chain is in. */
enum ge_state { GE_GOOD, GE_BAD };

/* 4-state model, numbered as in the kernel and the NetemCLG paper. */
enum four_state {
	FS_TX_IN_GAP = 1,     /* 1: packet received, gap period */
	FS_TX_IN_BURST = 2,   /* 2: packet received inside a burst */
	FS_LOST_IN_BURST = 3, /* 3: packet lost inside a burst */
	FS_LOST_IN_GAP = 4,   /* 4: isolated loss in a gap period */
};

struct loss_model {
	enum loss_kind kind;
	/*
	 * RANDOM: p[0] = loss probability.
	 * GE:     p[0] = P(G->B), p[1] = P(B->G), p[2] = loss in Bad (1-h), p[3] = loss in Good (1-k).
	 * 4STATE: p[0] = p13, p[1] = p31, p[2] = p32, p[3] = p23, p[4] = p14.
	 */
	double p[5];
	int state;
	struct rng rng;
};

/* Set the initial state (Good / state 1) and seed the model's own stream. */
void loss_init(struct loss_model *m, uint64_t seed, uint64_t stream);

/* Whether the arriving packet is lost. Advances the chain. */
bool loss_drop(struct loss_model *m);

#endif
