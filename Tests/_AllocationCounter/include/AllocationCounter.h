// Counts the heap allocations a thread makes between two calls, for the test
// that a Monte Carlo sample's path does not allocate (issue 32, item 2).
#pragma once
#include <stdbool.h>
#include <stdint.h>

/// False where the allocator is not interposed (a sanitizer build, whose
/// runtime owns malloc): counts are then meaningless and tests skip.
bool allocation_counting_is_available(void);

/// Starts counting this thread's calls to malloc, calloc, realloc,
/// posix_memalign, aligned_alloc, memalign and valloc from zero.
void allocation_counting_begin(void);

/// Stops counting on this thread and returns the count since the last begin.
uint64_t allocation_counting_end(void);
