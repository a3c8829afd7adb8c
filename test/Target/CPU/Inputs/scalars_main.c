/* Calls the entries of scalars.attn through the header attnc build writes,
 * with the scalars passed by value, and checks them against a plain C
 * computation in double precision. */
#include "scalars.h"

#include <math.h>
#include <stdio.h>

enum { D = 16, MAXN = 7 };

static float q[MAXN * D], k[MAXN * D], v[MAXN * D], out[MAXN * D];

/* The largest error of `out` against softmax(q k^T * g) v. */
static double tempered_error(int64_t n, float g) {
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double score[MAXN], top = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int d = 0; d < D; ++d)
        dot += (double)q[i * D + d] * k[j * D + d];
      score[j] = dot * g;
      top = score[j] > top ? score[j] : top;
    }
    for (int64_t j = 0; j < n; ++j)
      sum += exp(score[j] - top);
    for (int d = 0; d < D; ++d) {
      double want = 0;
      for (int64_t j = 0; j < n; ++j)
        want += exp(score[j] - top) / sum * v[j * D + d];
      double err = fabs(want - out[i * D + d]);
      worst = err > worst ? err : worst;
    }
  }
  return worst;
}

static void clear(void) {
  for (int i = 0; i < MAXN * D; ++i)
    out[i] = NAN;
}

int main(void) {
  for (int i = 0; i < MAXN * D; ++i) {
    q[i] = (float)sin(0.3 * i);
    k[i] = (float)cos(0.7 * i);
    v[i] = (float)(i % 11) / 11.0f - 0.5f;
  }
  float temperatures[] = {0.25f, 2.0f, 0.0f};
  int64_t sizes[] = {1, 5, 7};
  for (int t = 0; t < 3; ++t)
    for (int s = 0; s < 3; ++s) {
      float g = temperatures[t];
      int64_t n = sizes[s];
      clear();
      int rc = tempered(q, k, v, g, out, n);
      printf("tempered g=%g N=%lld: %d, %s\n", g, (long long)n, rc,
             tempered_error(n, g) <= 1e-5 ? "ok" : "WRONG");
    }

  /* The strided form takes g by value too, with no strides. */
  clear();
  int rc = tempered_strided(q, NULL, k, NULL, v, NULL, 0.5f, out, NULL, 5);
  printf("strided: %d, %s\n", rc,
         tempered_error(5, 0.5f) <= 1e-5 ? "ok" : "WRONG");

  /* The packed forms: g's entry of the tensors array points to its value,
   * its entry of the strides array is not read. */
  float g = 1.5f;
  void *tensors[] = {q, k, v, &g, out};
  int64_t n = 5;
  clear();
  rc = tempered_packed(tensors, &n);
  printf("packed: %d, %s\n", rc, tempered_error(5, g) <= 1e-5 ? "ok" : "WRONG");
  int64_t bogus = -7;
  const int64_t *strides[] = {NULL, NULL, NULL, &bogus, NULL};
  clear();
  rc = tempered_packed_strided(tensors, strides, &n);
  printf("packed strided: %d, %s\n", rc,
         tempered_error(5, g) <= 1e-5 ? "ok" : "WRONG");

  /* Every C type of scalar by value; scalar results through pointers. */
  float x[4] = {1.0f, 2.0f, 3.0f, 4.5f};
  float s_out = NAN;
  double t_out = NAN;
  rc = mix(x, 0.5f, 3, 0, 0.25, &s_out, &t_out, 4);
  printf("mix: %d s=%g t=%g\n", rc, s_out, t_out);
  rc = mix(x, 2.0f, -1, 1, -0.5, &s_out, &t_out, 4);
  printf("mix: %d s=%g t=%g\n", rc, s_out, t_out);
  return 0;
}
