/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The TCP port the services database gives NAME (as getservbyname(NAME, "tcp") would), or -1.
 * The database is read once, on the first call: getservbyname() reads the whole file for each
 * name, and a keys line or sshd_config naming a service over and over would pay for each.
 */
int service_tcp_port(const char *name);
