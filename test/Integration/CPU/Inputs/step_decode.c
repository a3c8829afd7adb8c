/* Decodes the gated delta rule (r09) token by token with
 * gated_delta_rule_step from a library built by `attnc build`, through its
 * generated header: starting from a zero state, each call takes one
 * token's q, k, v, alpha, beta and the state S_in, and returns the token's
 * output and the next state S_out (two state buffers, swapped after every
 * call). The outputs and the last state must match one call of
 * gated_delta_rule_step over all the tokens, and the outputs one call of
 * gated_delta_rule. */
#include "r09.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2, H = 8, N = 11, D = 64 };
#define TOKENS ((size_t)B * H * N)
#define STATE ((size_t)B * H * D * D)

static float uniform(unsigned *state, float lo, float hi) {
  *state = *state * 1103515245u + 12345u;
  return lo + (hi - lo) * (float)((*state >> 8) & 0xffff) / 65536.0f;
}

/* Token t of x[B][H][N][inner] into one[B][H][1][inner]. */
static void takeToken(const float *x, int inner, int t, float *one) {
  for (int bh = 0; bh < B * H; ++bh)
    memcpy(one + (size_t)bh * inner, x + ((size_t)bh * N + t) * inner,
           sizeof(float) * inner);
}

static double maxRelError(const float *got, const float *want, size_t n) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = fabs((double)got[i] - want[i]);
    worst = e > worst || e != e ? e : worst;
    scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
  }
  return scale > 0 ? worst / scale : worst;
}

int main(void) {
  float *q = malloc(sizeof(float) * TOKENS * D);
  float *k = malloc(sizeof(float) * TOKENS * D);
  float *v = malloc(sizeof(float) * TOKENS * D);
  float *alpha = malloc(sizeof(float) * TOKENS);
  float *beta = malloc(sizeof(float) * TOKENS);
  float *out = malloc(sizeof(float) * TOKENS * D);
  float *outStep = malloc(sizeof(float) * TOKENS * D);
  float *outDecode = malloc(sizeof(float) * TOKENS * D);
  float *zero = calloc(STATE, sizeof(float));
  float *stateFull = malloc(sizeof(float) * STATE);
  float *states[2] = {malloc(sizeof(float) * STATE),
                      malloc(sizeof(float) * STATE)};
  float q1[B * H * D], k1[B * H * D], v1[B * H * D], a1[B * H], b1[B * H];
  float o1[B * H * D];
  unsigned seed = 7;
  for (size_t i = 0; i < TOKENS * D; ++i) {
    q[i] = uniform(&seed, -1, 1);
    k[i] = uniform(&seed, -1, 1);
    v[i] = uniform(&seed, -1, 1);
  }
  for (size_t i = 0; i < TOKENS; ++i) {
    alpha[i] = uniform(&seed, 0.8f, 1.0f);
    beta[i] = uniform(&seed, 0.1f, 0.9f);
  }

  int rc = gated_delta_rule(q, k, v, alpha, beta, out, B, N);
  rc |= gated_delta_rule_step(q, k, v, alpha, beta, zero, outStep, stateFull, B,
                              N);
  memcpy(states[0], zero, sizeof(float) * STATE);
  for (int t = 0; t < N; ++t) {
    takeToken(q, D, t, q1);
    takeToken(k, D, t, k1);
    takeToken(v, D, t, v1);
    takeToken(alpha, 1, t, a1);
    takeToken(beta, 1, t, b1);
    rc |= gated_delta_rule_step(q1, k1, v1, a1, b1, states[t % 2], o1,
                                states[(t + 1) % 2], B, 1);
    for (int bh = 0; bh < B * H; ++bh)
      memcpy(outDecode + ((size_t)bh * N + t) * D, o1 + (size_t)bh * D,
             sizeof(float) * D);
  }
  double full = maxRelError(outStep, out, TOKENS * D);
  double decode = maxRelError(outDecode, out, TOKENS * D);
  double state = maxRelError(states[N % 2], stateFull, STATE);
  printf("return codes: %d\n", rc);
  printf("step over all tokens vs entry: %s 1e-6\n", full <= 1e-6 ? "<=" : ">");
  printf("decoded outputs vs entry: %s 1e-5\n", decode <= 1e-5 ? "<=" : ">");
  printf("decoded state vs one step call: %s 1e-5\n",
         state <= 1e-5 ? "<=" : ">");
  return rc != 0 || full > 1e-6 || decode > 1e-5 || state > 1e-5;
}
