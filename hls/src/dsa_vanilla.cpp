// dsa_vanilla.cpp -- the default instantiation of the study's vanilla DSA indexer
// (interface and loop structure: include/dsa_vanilla.h).
#include "dsa_vanilla.h"

void dsa_vanilla(const dsav_line_t* const qk[DSAV_PORTS], const float w[DSAV_HEADS], int* out, int num_keys,
                 int head_dim, int k, float* scores_out) {
    dsa_vanilla_t<DSAV_PORTS, DSAV_HEADS, DSAV_ELEM, DSAV_PORT_BITS, DSAV_KMAX>(qk, w, out, num_keys, head_dim, k,
                                                                             scores_out);
}
