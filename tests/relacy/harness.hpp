// The driver shared by the Relacy models in this folder: runs one test
// suite under one scheduler, expecting it either to pass or (for a negative
// control) to be caught, and keeps the tally that main() prints as the
// final "N passed, M failed" line.
//
// Include after <relacy/relacy.hpp>; the standard headers it needs come
// first because relacy.hpp redefines `new`, `delete` and `assert`.
#ifndef SPOOL_RELACY_HARNESS_HPP
#define SPOOL_RELACY_HARNESS_HPP

namespace harness {

// Relacy prints progress and statistics to the streams it is given; runs
// that behave as expected print one summary line instead.
struct null_streambuf : std::streambuf {
  int overflow(int c) override { return c; }
};

struct tally {
  int passed = 0;
  int failed = 0;
};

// RELACY_VERBOSE=1 also prints Relacy's execution history of each caught
// negative control (it always prints it for a model that should pass and
// did not).
inline bool verbose() {
  const char *v = std::getenv("RELACY_VERBOSE");
  return v && *v && *v != '0';
}

// RELACY_SCALE multiplies the iterations of the random-scheduler runs (a
// positive integer; default 1), for a longer search by hand.
inline unsigned long scale() {
  const char *v = std::getenv("RELACY_SCALE");
  if (!v || !*v) return 1;
  char *end = nullptr;
  unsigned long s = std::strtoul(v, &end, 10);
  if (*end != '\0' || s == 0) {
    std::fprintf(stderr, "RELACY_SCALE must be a positive integer, not '%s'\n", v);
    std::exit(2);
  }
  return s;
}

// RELACY_DEEP=1 adds the context-bound searches that take minutes rather
// than seconds (listed in each main()).
inline bool deep() {
  const char *v = std::getenv("RELACY_DEEP");
  return v && *v && *v != '0';
}

struct search {
  rl::scheduler_type_e type;
  unsigned long iterations; // random scheduler: the number of executions
  unsigned context_bound;   // context-bound scheduler: preemptions per execution
};

inline search random_search(unsigned long iterations) {
  return search{rl::sched_random, iterations * scale(), 0};
}
inline search bounded_search(unsigned bound) {
  return search{rl::sched_bound, 0, bound};
}
inline search full_search() {
  return search{rl::sched_full, 0, 0};
}

inline std::string describe(const search &s) {
  std::ostringstream o;
  switch (s.type) {
  case rl::sched_random: o << "random scheduler, " << s.iterations << " iterations"; break;
  case rl::sched_bound: o << "context-bound scheduler (bound " << s.context_bound << ")"; break;
  default: o << "full search"; break;
  }
  return o.str();
}

struct outcome {
  rl::test_result_e result;
  unsigned long iterations; // executions explored (up to the failing one)
  double seconds;
  std::string log;          // Relacy's own report

  // Relacy's line naming the failure, e.g. "USER ASSERT FAILED (assertion:
  // ...)" or "DATA RACE (data race detected)".
  std::string verdict() const {
    std::istringstream lines(log);
    std::string line, name = rl::test_result_str(result);
    while (std::getline(lines, line))
      if (line.compare(0, name.size(), name) == 0) return line;
    return name;
  }
};

template <class Test> outcome run(const search &s) {
  static null_streambuf null_buf;
  static std::ostream null_stream(&null_buf);
  // Relacy writes to it while its allocator is active: a std::ostringstream
  // would free its old buffer through Relacy's operator delete and crash.
  rl::ostringstream log;
  rl::test_params p;
  p.search_type = s.type;
  p.iteration_count = s.type == rl::sched_random ? s.iterations : 0;
  p.context_bound = s.context_bound;
  p.output_stream = &log;
  p.progress_stream = &null_stream;
  auto start = std::chrono::steady_clock::now();
  rl::simulate<Test>(p);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  auto text = log.str();
  return outcome{p.test_result, (unsigned long)p.stop_iteration, took.count(),
                 std::string(text.begin(), text.end())};
}

// The model must survive the whole search.
template <class Test> void expect_pass(tally &t, const std::string &name, const search &s) {
  outcome o = run<Test>(s);
  if (o.result == rl::test_result_success) {
    t.passed++;
    std::printf("PASS %s: %s, %lu executions, %.1f s\n", name.c_str(), describe(s).c_str(),
                o.iterations, o.seconds);
  } else {
    t.failed++;
    std::printf("FAIL %s: %s: at iteration %lu: %s\n%s\n", name.c_str(), describe(s).c_str(),
                o.iterations, o.verdict().c_str(), o.log.c_str());
  }
  std::fflush(stdout);
}

// A negative control: the weakened model must be caught within the search.
template <class Test> void expect_caught(tally &t, const std::string &name, const search &s) {
  outcome o = run<Test>(s);
  if (o.result != rl::test_result_success) {
    t.passed++;
    std::printf("PASS %s (negative control): caught by %s at iteration %lu, %.1f s: %s\n",
                name.c_str(), describe(s).c_str(), o.iterations, o.seconds,
                o.verdict().c_str());
    if (verbose()) std::printf("%s\n", o.log.c_str());
  } else {
    t.failed++;
    std::printf("FAIL %s (negative control): NOT caught: %s, %lu executions, %.1f s\n",
                name.c_str(), describe(s).c_str(), o.iterations, o.seconds);
  }
  std::fflush(stdout);
}

// A model counts, in a table of its own, how often each path of interest
// was taken (a steal that wins from a grown ring, an owner losing the last
// item, ...), summed over all executions of its searches. Checking that each
// was reached at least once keeps a scenario from passing vacuously.
template <size_t N>
void expect_reached(tally &t, const std::string &name, const char *const (&paths)[N],
                    const unsigned long (&seen)[N]) {
  std::string missing, counts;
  for (size_t i = 0; i < N; i++) {
    counts += std::string(i ? ", " : "") + paths[i] + " " + std::to_string(seen[i]);
    if (seen[i] == 0) missing += std::string(missing.empty() ? "" : ", ") + paths[i];
  }
  if (missing.empty()) {
    t.passed++;
    std::printf("PASS %s: every path reached (%s)\n", name.c_str(), counts.c_str());
  } else {
    t.failed++;
    std::printf("FAIL %s: never reached: %s (%s)\n", name.c_str(), missing.c_str(),
                counts.c_str());
  }
  std::fflush(stdout);
}

inline int finish(const tally &t) {
  std::printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed == 0 && t.passed > 0 ? 0 : 1;
}

} // namespace harness

#endif
