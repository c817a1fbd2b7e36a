/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <check.h>

/* Each unit test file defines this; check-main.c runs it and prints TAP. */
Suite *test_suite(void);
