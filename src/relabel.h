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

/*
 * The first element of C, a keys file's chain, whose label sshd may not use under P's
 * enforcing policy (nothing when P is NULL or does not enforce): 1 with its path in *path and
 * "PATH: labelled CURRENT, the policy gives EXPECTED" in *detail (both malloc'd); else 0, or
 * -ENOMEM.
 */
int relabel_denied(const struct label_policy *p, const struct chain *c, char **path, char **detail);
