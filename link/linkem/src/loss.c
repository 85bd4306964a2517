#include "loss.h"

void loss_init(struct loss_model *m, uint64_t seed, uint64_t stream)
{
	m->state = m->kind == LOSS_4STATE ? FS_TX_IN_GAP : GE_GOOD;
	rng_seed(&m->rng, seed, stream);
}

/*
 * Gilbert-Elliott in the kernel's order: the transition is drawn first, then the loss, with the
 * probability of the state the chain was in when the packet arrived. Two draws per packet.
 */
static bool loss_gilbert_elliott(struct loss_model *m)
{
	const double u_transition = rng_uniform(&m->rng);
	const double u_loss = rng_uniform(&m->rng);
	if (m->state == GE_GOOD) {
		if (u_transition < m->p[0])
			m->state = GE_BAD;
		return u_loss < m->p[3];
	}
	if (u_transition < m->p[1])
		m->state = GE_GOOD;
	return u_loss < m->p[2];
}

/* 4-state model as sch_netem.c loss_4state (2026): a packet is lost when it enters state 3 or 4. */
static bool loss_four_state(struct loss_model *m)
{
	const double p13 = m->p[0], p31 = m->p[1], p32 = m->p[2], p23 = m->p[3], p14 = m->p[4];
	const double u = rng_uniform(&m->rng);
	switch (m->state) {
	case FS_TX_IN_GAP:
		if (u < p14) {
			m->state = FS_LOST_IN_GAP;
			return true;
		}
		if (u < p14 + p13) {
			m->state = FS_LOST_IN_BURST;
			return true;
		}
		return false;
	case FS_TX_IN_BURST:
		if (u < p23) {
			m->state = FS_LOST_IN_BURST;
			return true;
		}
		return false;
	case FS_LOST_IN_BURST:
		if (u < p32) {
			m->state = FS_TX_IN_BURST;
			return false;
		}
		if (u < p32 + p31) {
			m->state = FS_TX_IN_GAP;
			return false;
		}
		return true;
	default: /* FS_LOST_IN_GAP */
		m->state = FS_TX_IN_GAP;
		return false;
	}
}

bool loss_drop(struct loss_model *m)
{
	switch (m->kind) {
	case LOSS_RANDOM:
		return rng_uniform(&m->rng) < m->p[0];
	case LOSS_GE:
		return loss_gilbert_elliott(m);
	case LOSS_4STATE:
		return loss_four_state(m);
	default:
		return false;
	}
}
