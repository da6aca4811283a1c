// The allocation functions of the test executable: each forwards to glibc's
// own (__libc_malloc, …) and counts the call when its thread is counting.
// Defined in the executable, they take precedence over libc's for every
// library in the process (ELF symbol interposition), the Swift runtime
// included. Nothing is defined under a sanitizer, whose runtime interposes
// malloc itself, or on a C library without the __libc_ entry points.
#include "AllocationCounter.h"

#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ALLOCATION_COUNTER_SANITIZED 1
#endif
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(ALLOCATION_COUNTER_SANITIZED)

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);

static _Thread_local int counting;
static _Thread_local uint64_t count;
/// ALLOCATION_COUNTER_BACKTRACE=1: each counted allocation writes its call
/// stack to stderr (to find what still allocates; symbolise with
/// swift-demangle). Read once per begin; `tracing` also guards against the
/// allocations backtrace() itself may make.
static _Thread_local int tracing, traceRequested;

static inline void note(void) {
  if (!counting || tracing) return;
  count += 1;
  if (traceRequested) {
    tracing = 1;
    void *frames[24];
    int depth = backtrace(frames, 24);
    static const char separator[] = "--- counted allocation\n";
    write(2, separator, sizeof separator - 1);
    backtrace_symbols_fd(frames + 1, depth - 1, 2);
    tracing = 0;
  }
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(); return __libc_realloc(p, size); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { note(); return __libc_valloc(size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
  note();
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void *p = __libc_memalign(alignment, size);
  if (p == NULL && size != 0) return ENOMEM;
  *out = p;
  return 0;
}

bool allocation_counting_is_available(void) { return true; }
void allocation_counting_begin(void) {
  const char *trace = getenv("ALLOCATION_COUNTER_BACKTRACE");
  traceRequested = trace != NULL && trace[0] == '1';
  if (traceRequested) {  // load the unwinder now, outside the counted span
    void *frame;
    backtrace(&frame, 1);
  }
  count = 0;
  counting = 1;
}
uint64_t allocation_counting_end(void) { counting = 0; return count; }

#else

bool allocation_counting_is_available(void) { return false; }
void allocation_counting_begin(void) {}
uint64_t allocation_counting_end(void) { return 0; }

#endif
