/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "chain.h"
#include "run.h"

/*
 * Does chain element EL's SELinux label carry the type the policy gives its path (label.c)?
 * If not, a PROBLEM_LABEL finding, and in ENGINE_FIX mode the type restored on EL's
 * descriptor as restorecon would. Nothing when the run's engine judges no labels.
 */
int relabel_judge(struct run *r, const struct chain_elem *el);
