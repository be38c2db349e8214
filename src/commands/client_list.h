// Formats one client as a CLIENT LIST / CLIENT INFO line (Redis 7.2's field order, which adds
// lib-name and lib-ver to 7.0's).
#pragma once

#include <string>

#include "commands/server_api.h"

namespace organic::commands {

std::string FormatClientLine(const ClientInfo& info, int64_t now_ms);

}  // namespace organic::commands
