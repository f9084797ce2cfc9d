/* Configure-time probe: does this compiler build and link OpenMP code? */
#include <omp.h>

int main(void) {
  return omp_get_max_threads() > 0 ? 0 : 1;
}
