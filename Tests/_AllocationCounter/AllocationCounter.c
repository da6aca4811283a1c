// The allocation functions of the test executable: each forwards to glibc's
// own (__libc_malloc, …) and counts the call when its thread is counting.
// Defined in the executable, they take precedence over libc's for every
// library in the process (ELF symbol interposition), the Swift runtime
// included. Nothing is defined under a sanitizer, whose runtime interposes
// malloc itself, or on a C library without the __libc_ entry points.
#include "AllocationCounter.h"

#include <errno.h>
#include <stddef.h>

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

static inline void note(void) {
  if (counting) count += 1;
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
void allocation_counting_begin(void) { count = 0; counting = 1; }
uint64_t allocation_counting_end(void) { counting = 0; return count; }

#else

bool allocation_counting_is_available(void) { return false; }
void allocation_counting_begin(void) {}
uint64_t allocation_counting_end(void) { return 0; }

#endif
