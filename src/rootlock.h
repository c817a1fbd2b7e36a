/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * One daemon per root: two would fight over every repair and key sync. Take the root's daemon
 * lock, a file in the state directory inside ROOTFD (ROOT as the user named it, NULL for "/"),
 * into *RET, held until the process ends: -EBUSY, told on stderr with the holder's pid, when
 * another daemon still holds it after a few seconds (a restart waits for the old one to exit).
 */
int rootlock_take(int rootfd, const char *root, int *ret);
