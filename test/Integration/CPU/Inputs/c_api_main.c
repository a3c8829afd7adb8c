/* Calls causal_mha from a library built by `attnc build` through its
 * generated header, and checks it against a direct C implementation of
 * causal softmax attention (float64 accumulation): the dense entry, the
 * strided entry on [B, N, H, D] buffers viewed as [B, H, N, D] (as a
 * PyTorch transpose gives), the packed strided entry with NULL (dense)
 * strides, zero strides broadcasting an input, and the error codes. */
#include "r01.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 2, H = 8, N = 37, D = 64 };
#define COUNT ((size_t)B * H * N * D)

static float uniform(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* Element [b][h][n][d] of a tensor with the given strides. */
static size_t at(const int64_t *strides, int b, int h, int n, int d) {
  return (size_t)(b * strides[0] + h * strides[1] + n * strides[2] +
                  d * strides[3]);
}

static const int64_t dense[4] = {(int64_t)H * N * D, (int64_t)N *D, D, 1};
/* [B, H, N, D] viewed in a [B, N, H, D] buffer. */
static const int64_t transposed[4] = {(int64_t)N * H * D, D, (int64_t)H *D, 1};

/* Causal attention of q, k, v (with their strides) into ref[B][H][N][D]. */
static void reference(const float *q, const int64_t *qs, const float *k,
                      const int64_t *ks, const float *v, const int64_t *vs,
                      double *ref) {
  double s[N];
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < N; ++i) {
        double max = -INFINITY, sum = 0;
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += (double)q[at(qs, b, h, i, d)] * k[at(ks, b, h, j, d)];
          s[j] = dot / sqrt((double)D);
          max = s[j] > max ? s[j] : max;
        }
        for (int j = 0; j <= i; ++j)
          sum += exp(s[j] - max);
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc += exp(s[j] - max) / sum * v[at(vs, b, h, j, d)];
          ref[at(dense, b, h, i, d)] = acc;
        }
      }
}

static double worstError(const float *o, const int64_t *os, const double *ref) {
  double worst = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int n = 0; n < N; ++n)
        for (int d = 0; d < D; ++d) {
          double e = fabs(o[at(os, b, h, n, d)] - ref[at(dense, b, h, n, d)]);
          worst = e > worst || e != e ? e : worst;
        }
  return worst;
}

static int report(const char *what, int rc, double worst) {
  printf("%s: %d, max abs error %s 1e-5\n", what, rc,
         worst <= 1e-5 ? "<=" : ">");
  return rc == 0 && worst <= 1e-5;
}

/* Calls the strided entry with q's strides replaced; reports the code and
 * whether the output was written. */
static void expectError(const char *what, const float *q, const int64_t *qs,
                        const float *k, const int64_t *ks, float *o,
                        const int64_t *os, int64_t n) {
  for (size_t i = 0; i < COUNT; ++i)
    o[i] = 42.0f;
  int rc = causal_mha_strided(q, qs, k, ks, k, ks, o, os, B, n);
  int untouched = 1;
  for (size_t i = 0; i < COUNT; ++i)
    untouched &= o[i] == 42.0f;
  printf("%s: %d, output %s\n", what, rc, untouched ? "untouched" : "written");
}

int main(void) {
  float *q = malloc(COUNT * sizeof(float)), *k = malloc(COUNT * sizeof(float));
  float *v = malloc(COUNT * sizeof(float)), *o = malloc(COUNT * sizeof(float));
  float *qt = malloc(COUNT * sizeof(float)),
        *kt = malloc(COUNT * sizeof(float));
  float *vt = malloc(COUNT * sizeof(float));
  float *ot = malloc(COUNT * sizeof(float));
  double *ref = malloc(COUNT * sizeof(double));
  unsigned state = 1;
  for (size_t i = 0; i < COUNT; ++i) {
    q[i] = uniform(&state);
    k[i] = uniform(&state);
    v[i] = uniform(&state);
  }
  /* The same tensors stored as [B, N, H, D]. */
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int n = 0; n < N; ++n)
        for (int d = 0; d < D; ++d) {
          qt[at(transposed, b, h, n, d)] = q[at(dense, b, h, n, d)];
          kt[at(transposed, b, h, n, d)] = k[at(dense, b, h, n, d)];
          vt[at(transposed, b, h, n, d)] = v[at(dense, b, h, n, d)];
        }
  reference(q, dense, k, dense, v, dense, ref);
  int ok = 1;

  /* The dense entry. */
  int rc = causal_mha(q, k, v, o, B, N);
  double worst = worstError(o, dense, ref);
  printf("max abs error %s 1e-5\n", worst <= 1e-5 ? "<=" : ">");
  ok &= rc == 0 && worst <= 1e-5;

  /* Transposed views in and out, no copy on the caller's side. */
  for (size_t i = 0; i < COUNT; ++i)
    ot[i] = NAN;
  rc = causal_mha_strided(qt, transposed, kt, transposed, vt, transposed, ot,
                          transposed, B, N);
  ok &= report("strided", rc, worstError(ot, transposed, ref));

  /* Packed, mixing transposed and NULL (dense) strides. */
  for (size_t i = 0; i < COUNT; ++i)
    o[i] = NAN;
  void *tensors[4] = {qt, k, vt, o};
  const int64_t *strides[4] = {transposed, NULL, transposed, NULL};
  int64_t sizes[2] = {B, N};
  rc = causal_mha_packed_strided(tensors, strides, sizes);
  ok &= report("packed strided", rc, worstError(o, dense, ref));

  /* Zero batch strides broadcast batch 0 of k and v. */
  const int64_t broadcast[4] = {0, (int64_t)N * D, D, 1};
  reference(q, dense, k, broadcast, v, broadcast, ref);
  rc = causal_mha_strided(q, NULL, k, broadcast, v, broadcast, o, NULL, B, N);
  ok &= report("broadcast", rc, worstError(o, dense, ref));

  /* Errors: the output is untouched. */
  const int64_t inner2[4] = {(int64_t)H * N * D * 2, (int64_t)N * D * 2, D * 2,
                             2};
  const int64_t negative[4] = {(int64_t)H * N * D, (int64_t)N * D, -D, 1};
  const int64_t zeroHeads[4] = {(int64_t)N * D, 0, D, 1};
  expectError("innermost stride 2", q, inner2, k, NULL, o, NULL, N);
  expectError("negative stride", q, NULL, k, negative, o, NULL, N);
  expectError("zero output stride", q, NULL, k, NULL, o, zeroHeads, N);
  expectError("strided negative size", q, NULL, k, NULL, o, NULL, -1);
  /* A negative size is an error code, and the output is untouched. */
  o[0] = 42.0f;
  printf("negative size: %d, output %s\n", causal_mha(q, k, v, o, B, -1),
         o[0] == 42.0f ? "untouched" : "written");
  return ok ? 0 : 1;
}
