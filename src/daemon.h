/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * sshmend daemon: fix every chain once, then watch them with inotify and heal each
 * drift as fix would, telling the journal. Returns the process exit status.
 */
int daemon_run(const char *root, const char *config_path);
