#pragma once
#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated string vectors. */
size_t strv_length(char *const *l);
int strv_push(char ***l, const char *s);
int strv_push_unique(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
void strv_free(char **l);
int strv_split_ws(char ***ret, const char *s);

static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
