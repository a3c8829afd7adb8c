/* Calls causal_mha from a library built by `attnc build` through its
 * generated header, and checks it against a direct C implementation of
 * causal softmax attention (float64 accumulation). */
#include "r01.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 2, H = 8, N = 37, D = 64 };

static float uniform(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

int main(void) {
  size_t count = (size_t)B * H * N * D;
  float *q = malloc(count * sizeof(float)), *k = malloc(count * sizeof(float));
  float *v = malloc(count * sizeof(float)), *o = malloc(count * sizeof(float));
  unsigned state = 1;
  for (size_t i = 0; i < count; ++i) {
    q[i] = uniform(&state);
    k[i] = uniform(&state);
    v[i] = uniform(&state);
  }
  if (causal_mha(q, k, v, o, B, N) != 0) {
    printf("causal_mha failed\n");
    return 1;
  }
  double worst = 0;
  double *s = malloc(N * sizeof(double));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < N; ++i) {
        const float *qi = q + (((size_t)b * H + h) * N + i) * D;
        double max = -INFINITY, sum = 0;
        for (int j = 0; j <= i; ++j) {
          const float *kj = k + (((size_t)b * H + h) * N + j) * D;
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += (double)qi[d] * kj[d];
          s[j] = dot / sqrt((double)D);
          max = s[j] > max ? s[j] : max;
        }
        for (int j = 0; j <= i; ++j)
          sum += exp(s[j] - max);
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc += exp(s[j] - max) / sum *
                   v[(((size_t)b * H + h) * N + j) * D + d];
          double got = o[(((size_t)b * H + h) * N + i) * D + d];
          worst = fabs(got - acc) > worst ? fabs(got - acc) : worst;
        }
      }
  printf("max abs error %s 1e-5\n", worst <= 1e-5 ? "<=" : ">");
  /* A negative size is an error code, and the output is untouched. */
  o[0] = 42.0f;
  printf("negative size: %d, output %s\n", causal_mha(q, k, v, o, B, -1),
         o[0] == 42.0f ? "untouched" : "written");
  return worst <= 1e-5 ? 0 : 1;
}
