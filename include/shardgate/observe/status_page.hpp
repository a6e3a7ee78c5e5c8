#pragma once
/// @file
/// The live status page served at `/` by `--metrics HOST:PORT`: one self-contained HTML file
/// (inline CSS and JavaScript) that reads `/events` (Server-Sent Events) and `/status.json`.

#include <string_view>

namespace shardgate::observe {

/// The page, from `src/observe/status_page/index.html`.
[[nodiscard]] std::string_view status_page_html() noexcept;

} // namespace shardgate::observe
