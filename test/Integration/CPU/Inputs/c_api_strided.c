/* Calls ENTRY (any entry whose tensors are all [B, H, N, D] with H and D
 * fixed by the header, and whose sizes are B and N) through its dense and
 * its strided C function, with the strided one reading and writing
 * [B, N, H, D] buffers viewed as [B, H, N, D], and checks that the two
 * agree. Compile with `-include NAME.h -DENTRY=... -DINPUTS=... -DHEADS=...
 * -DDIM=...`. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CAT(a, b) a##b
#define STRIDED(e) CAT(e, _strided)

enum { B = 2, N = 19, H = HEADS, D = DIM };
#define COUNT ((size_t)B * H * N * D)

static float uniform(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static size_t at(const int64_t *strides, int b, int h, int n, int d) {
  return (size_t)(b * strides[0] + h * strides[1] + n * strides[2] +
                  d * strides[3]);
}

int main(void) {
  const int64_t dense[4] = {(int64_t)H * N * D, (int64_t)N * D, D, 1};
  const int64_t transposed[4] = {(int64_t)N * H * D, D, (int64_t)H * D, 1};
  float *in[INPUTS], *tin[INPUTS];
  unsigned state = 7;
  for (int t = 0; t < INPUTS; ++t) {
    in[t] = malloc(COUNT * sizeof(float));
    tin[t] = malloc(COUNT * sizeof(float));
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h)
        for (int n = 0; n < N; ++n)
          for (int d = 0; d < D; ++d)
            in[t][at(dense, b, h, n, d)] = tin[t][at(transposed, b, h, n, d)] =
                uniform(&state);
  }
  float *out = malloc(COUNT * sizeof(float));
  float *tout = malloc(COUNT * sizeof(float));
#if INPUTS == 3
  int rc = ENTRY(in[0], in[1], in[2], out, B, N);
  int src = STRIDED(ENTRY)(tin[0], transposed, tin[1], transposed, tin[2],
                           transposed, tout, transposed, B, N);
#else
#error "INPUTS must be 3"
#endif
  double worst = 0, magnitude = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int n = 0; n < N; ++n)
        for (int d = 0; d < D; ++d) {
          double x = out[at(dense, b, h, n, d)];
          double e = fabs(tout[at(transposed, b, h, n, d)] - x);
          worst = e > worst || e != e ? e : worst;
          magnitude = fabs(x) > magnitude ? fabs(x) : magnitude;
        }
  printf("dense: %d, strided: %d, %s\n", rc, src,
         worst <= 1e-6 * (magnitude + 1) && magnitude > 0
             ? "same results"
             : "different results");
  return rc != 0 || src != 0;
}
