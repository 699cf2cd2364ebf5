/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder: being written (issue 5). */
typedef int ms_placeholder_ms_agent_panel;
