// Typed fork-join compiled as C++17 (spool.h compiles as C and C++): the
// macros expand to valid C++ with -Wold-style-cast -Wpedantic clean, and run
// with the same results, with the inline path and with SPOOL_NO_INLINE
// (meson.build). A plain program ending with "N passed, M failed".
//
//  - fib on 1 and 2 workers and outside a worker;
//  - six parameters, a struct argument and result, the void form;
//  - typed and untyped frames synced in reverse order.
#include <spool.h>

#include <cstdint>
#include <cstdio>
#include <vector>

static unsigned passed, failed;

static void check(bool ok, const char *what, int line) {
  if (ok) {
    passed++;
  } else {
    failed++;
    std::fprintf(stderr, "typed_cxx.cpp:%d: check failed: %s\n", line, what);
  }
}
#define CHECK(c) check((c), #c, __LINE__)

long fib(long n);
SPOOL_FORKABLE(long, fib, long);
long fib(long n) {
  if (n < 2) return n;
  spool_frame(fib) f;
  SPOOL_FORK(&f, fib, n - 1);
  long b = fib(n - 2);
  return SPOOL_SYNC(&f, fib) + b;
}

typedef long (*unary)(long);
static long inc(long x) {
  return x + 1;
}
long six(int a, unsigned b, long c, double d, const char *e, unary f);
SPOOL_FORKABLE(long, six, int, unsigned, long, double, const char *, unary);
long six(int a, unsigned b, long c, double d, const char *e, unary f) {
  return f(a + static_cast<long>(b) + c + static_cast<long>(d) + (e[0] == 'x' ? 1000 : 0));
}

struct span {
  long lo, hi;
};
span halve(span s);
SPOOL_FORKABLE(span, halve, span);
span halve(span s) {
  if (s.hi - s.lo < 2) return s;
  long mid = s.lo + (s.hi - s.lo) / 2;
  spool_frame(halve) f;
  SPOOL_FORK(&f, halve, span{s.lo, mid});
  span right = halve(span{mid, s.hi});
  span left = SPOOL_SYNC(&f, halve);
  return span{left.lo, right.hi};
}

void fill(int *a, std::size_t n);
SPOOL_FORKABLE_VOID(fill, int *, std::size_t);
void fill(int *a, std::size_t n) {
  if (n < 2) {
    if (n) a[0]++;
    return;
  }
  spool_frame(fill) f;
  SPOOL_FORK(&f, fill, a, n / 2);
  fill(a + n / 2, n - n / 2);
  SPOOL_SYNC(&f, fill);
}

static int untyped_fib(void *arg, void **result) {
  *result = reinterpret_cast<void *>(fib(reinterpret_cast<std::intptr_t>(arg)));
  return 0;
}

static int everything(void *, void **result) {
  bool ok = fib(20) == 6765;
  spool_frame(six) s;
  SPOOL_FORK(&s, six, 1, 2u, 3L, 4.5, "x", inc);
  spool_task u;
  spool_fork(&u, untyped_fib, reinterpret_cast<void *>(std::intptr_t{15}));
  spool_frame(halve) h;
  SPOOL_FORK(&h, halve, span{-5, 300});
  span hs = SPOOL_SYNC(&h, halve);
  ok = ok && hs.lo == -5 && hs.hi == 300;
  void *r = nullptr;
  ok = ok && spool_sync(&u, &r) == SPOOL_OK && reinterpret_cast<std::intptr_t>(r) == 610;
  ok = ok && SPOOL_SYNC(&s, six) == 1011;
  std::vector<int> cells(1000);
  fill(cells.data(), cells.size());
  for (int c : cells)
    ok = ok && c == 1;
  *result = reinterpret_cast<void *>(std::intptr_t{ok});
  return 0;
}

int main() {
#ifdef SPOOL_INLINE_FORK_JOIN
  std::puts("fork-join: spool.h's inline fast path (C++)");
#else
  std::puts("fork-join: the library's functions (C++)");
#endif
  void *r = nullptr;
  CHECK(everything(nullptr, &r) == 0 && r == reinterpret_cast<void *>(1)); // outside
  for (unsigned workers = 1; workers <= 2; workers++) {
    spool_config c;
    spool_config_init(&c);
    c.workers = workers;
    spool_executor *ex = nullptr;
    CHECK(spool_executor_create(&ex, &c) == SPOOL_OK);
    if (!ex) break;
    for (int rep = 0; rep < 10; rep++) {
      r = nullptr;
      CHECK(spool_run(ex, everything, nullptr, &r) == SPOOL_OK);
      CHECK(r == reinterpret_cast<void *>(1));
    }
    spool_stats st;
    CHECK(spool_stats_read(ex, -1, &st) == SPOOL_OK && st.forks > 0);
    spool_executor_destroy(ex);
  }
  std::printf("%u passed, %u failed\n", passed, failed);
  return failed || !passed ? 1 : 0;
}
