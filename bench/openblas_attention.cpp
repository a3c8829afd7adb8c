// Unfused OpenBLAS attention baseline: per (b, h) and per block of query rows,
//   S = Q K^T / sqrt(D)   (cblas_sgemm)
//   P = mask + row softmax(S), or sigmoid(S + bias) with no normalization
//   O = P V                (cblas_sgemm)
// Query rows go in blocks of --block rows (default 256); a block's key range
// skips the columns its mask hides entirely (causal: j <= i, window:
// i - W < j <= i), so the GEMMs only touch the band that the mask leaves.
// -ffast-math lets GCC vectorize expf through glibc's libmvec (2.7x faster).
// Softmax runs on T OpenMP threads; OpenBLAS uses T (pthread) threads. With
// OpenMP's default spin-waiting the two pools fight for the cores (8x slower
// on 2 cores), so unless OMP_WAIT_POLICY is set, main() re-executes itself
// with OMP_WAIT_POLICY=PASSIVE.
//
// --variant sgemm times one plain square SGEMM (m = n = k, multiple of 64)
// whose FLOP count is about --flops, for the "fraction of SGEMM peak" column.
//
// Prints one JSON line with the keys of `attnc bench --json` plus "impl".
//
// Build (bench/run.py does this):
//   g++ -O3 -march=native -ffast-math -fopenmp bench/openblas_attention.cpp
//       -o bench/build/openblas_attention -lopenblas
#include <cblas.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

struct Opts {
  std::string variant = "full"; // full | causal | window | sigmoid | sgemm
  long B = 1, H = 8, N = 1024, D = 64, W = 256, block = 256;
  int threads = 1, repeat = 5, warmup = 1;
  double flops = 0; // sgemm variant only
  std::string dump; // write q, k, v, out as raw f32 to DUMP.{q,k,v,out}
};

const char *entryName(const std::string &v) {
  if (v == "full")
    return "mha";
  if (v == "causal")
    return "causal_mha";
  if (v == "window")
    return "sliding_window";
  if (v == "sigmoid")
    return "sigmoid_attention";
  return "sgemm";
}

// One (b, h): q, k, v, o are [N, D] row-major; s is a [block, N] scratch.
void attendHead(const Opts &o, const float *q, const float *k, const float *v,
                float *out, float *s) {
  const long N = o.N, D = o.D;
  const float scale = 1.0f / std::sqrt((float)D);
  const float bias = -std::log((float)N); // sigmoid: b = -log M, M = N
  for (long i0 = 0; i0 < N; i0 += o.block) {
    long i1 = std::min(N, i0 + o.block), rows = i1 - i0;
    long lo = 0, hi = N; // key columns this block can see
    if (o.variant == "causal" || o.variant == "window")
      hi = i1;
    if (o.variant == "window")
      lo = std::max(0L, i0 - o.W + 1);
    long cols = hi - lo;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, D, scale,
                q + i0 * D, D, k + lo * D, D, 0.0f, s, cols);
#pragma omp parallel for num_threads(o.threads) schedule(static)
    for (long r = 0; r < rows; ++r) {
      long i = i0 + r;
      float *row = s + r * cols;
      if (o.variant == "sigmoid") {
        for (long c = 0; c < cols; ++c)
          row[c] = 1.0f / (1.0f + std::exp(-(row[c] + bias)));
        continue;
      }
      long jlo = lo, jhi = hi; // visible keys j in [jlo, jhi)
      if (o.variant == "causal" || o.variant == "window")
        jhi = i + 1;
      if (o.variant == "window")
        jlo = std::max(lo, i - o.W + 1);
      float *vis = row + (jlo - lo);
      long nvis = jhi - jlo;
      float mx = -INFINITY, sum = 0.0f;
      for (long c = 0; c < nvis; ++c)
        mx = std::max(mx, vis[c]);
      for (long c = 0; c < nvis; ++c)
        sum += (vis[c] = std::exp(vis[c] - mx));
      float inv = 1.0f / sum;
      for (long c = 0; c < nvis; ++c)
        vis[c] *= inv;
      std::fill(row, vis, 0.0f); // masked columns
      std::fill(vis + nvis, row + cols, 0.0f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, D, cols, 1.0f,
                s, cols, v + lo * D, D, 0.0f, out + i0 * D, D);
  }
}

bool parse(int argc, char **argv, Opts &o) {
  for (int a = 1; a + 1 < argc; a += 2) {
    std::string f = argv[a], v = argv[a + 1];
    if (f == "--variant")
      o.variant = v;
    else if (f == "--B")
      o.B = atol(v.c_str());
    else if (f == "--H")
      o.H = atol(v.c_str());
    else if (f == "--N")
      o.N = atol(v.c_str());
    else if (f == "--D")
      o.D = atol(v.c_str());
    else if (f == "--W")
      o.W = atol(v.c_str());
    else if (f == "--block")
      o.block = atol(v.c_str());
    else if (f == "--threads")
      o.threads = atoi(v.c_str());
    else if (f == "--repeat")
      o.repeat = atoi(v.c_str());
    else if (f == "--warmup")
      o.warmup = atoi(v.c_str());
    else if (f == "--flops")
      o.flops = atof(v.c_str());
    else if (f == "--dump")
      o.dump = v;
    else
      return false;
  }
  return argc % 2 == 1;
}

} // namespace

int main(int argc, char **argv) {
  if (!getenv("OMP_WAIT_POLICY")) { // libgomp reads it at load time
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
  }
  Opts o;
  if (!parse(argc, argv, o)) {
    fprintf(
        stderr,
        "usage: %s [--variant full|causal|window|sigmoid|sgemm] [--B 1] [--H "
        "8]\n"
        "          [--N 1024] [--D 64] [--W 256] [--block 256] [--threads T]\n"
        "          [--repeat R] [--warmup 1] [--flops F (sgemm)] [--dump "
        "PREFIX]\n",
        argv[0]);
    return 2;
  }
  openblas_set_num_threads(o.threads);
  std::mt19937 gen(0);
  std::normal_distribution<float> dist;
  auto randn = [&](size_t n) {
    std::vector<float> x(n);
    for (auto &e : x)
      e = dist(gen);
    return x;
  };

  long m = 0; // sgemm dimension
  std::vector<float> q, k, v, out, s;
  if (o.variant == "sgemm") {
    m = std::max(64L, std::lround(std::cbrt(o.flops / 2) / 64) * 64);
    q = randn(m * m), k = randn(m * m), out.assign(m * m, 0.0f);
  } else {
    size_t n = (size_t)o.B * o.H * o.N * o.D;
    q = randn(n), k = randn(n), v = randn(n), out.assign(n, 0.0f);
    s.assign((size_t)std::min(o.block, o.N) * o.N, 0.0f);
  }
  auto once = [&] {
    if (o.variant == "sgemm") {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f,
                  q.data(), m, k.data(), m, 0.0f, out.data(), m);
      return;
    }
    size_t head = (size_t)o.N * o.D;
    for (long bh = 0; bh < o.B * o.H; ++bh)
      attendHead(o, q.data() + bh * head, k.data() + bh * head,
                 v.data() + bh * head, out.data() + bh * head, s.data());
  };

  for (int r = 0; r < o.warmup; ++r)
    once();
  std::vector<double> t;
  for (int r = 0; r < o.repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    once();
    t.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  std::vector<double> sorted = t;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  double median =
      n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  double checksum = 0;
  for (size_t i = 0; i < out.size(); i += 97)
    checksum += out[i];
  if (!o.dump.empty() && o.variant != "sgemm") {
    const std::vector<float> *arrays[] = {&q, &k, &v, &out};
    const char *names[] = {"q", "k", "v", "out"};
    for (int a = 0; a < 4; ++a) {
      FILE *f = fopen((o.dump + "." + names[a] + ".f32").c_str(), "wb");
      if (f)
        fwrite(arrays[a]->data(), sizeof(float), arrays[a]->size(), f),
            fclose(f);
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);

  printf("{\"impl\": \"openblas_%s\", \"entry\": \"%s\", \"sizes\": {\"B\": "
         "%ld, \"N\": %ld}, "
         "\"threads\": %d, \"median_s\": %.6g, \"min_s\": %.6g, "
         "\"peak_rss_mb\": %.1f",
         o.variant == "sgemm" ? "sgemm" : "unfused", entryName(o.variant), o.B,
         o.N, o.threads, median, sorted[0], ru.ru_maxrss / 1024.0);
  if (o.variant == "sgemm")
    printf(", \"gemm_m\": %ld, \"flops\": %.6g, \"gflops\": %.3f", m,
           2.0 * m * m * m, 2.0 * m * m * m / median / 1e9);
  printf(", \"omp_wait_policy\": \"%s\", \"checksum\": %.6g}\n",
         getenv("OMP_WAIT_POLICY"), checksum);
  return 0;
}
