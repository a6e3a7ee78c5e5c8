#include "explain.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/intents.hpp"

#include <charconv>
#include <ostream>
#include <string_view>

namespace shardgate::cli {
namespace {

namespace gw = shardgate::gateway;

void write_policy_json(gw::detail::json_writer& w, const gw::close_policy& p) {
    w.begin_object();
    w.key("code").uint_value(p.code);
    w.key("name").string_value(p.name);
    w.key("action").string_value(gw::to_string(p.reaction));
    w.key("meaning").string_value(p.meaning);
    w.key("remedy").string_value(p.remedy);
    w.end_object();
}

void print_policy(std::ostream& out, const gw::close_policy& p) {
    out << p.code << ' ' << p.name << '\n'
        << "  meaning:   " << p.meaning << '\n'
        << "  shardgate: " << gw::to_string(p.reaction) << ": " << gw::describe(p.reaction) << '\n'
        << "  fix:       " << p.remedy << '\n';
}

std::string known_codes() {
    std::string list;
    for (const auto& p : gw::all_close_policies()) {
        if (!list.empty()) {
            list += ", ";
        }
        list += std::to_string(p.code);
    }
    return list;
}

int explain_intents(const explain_options& options, std::ostream& out) {
    if (options.json) {
        std::string text;
        gw::detail::json_writer w(text);
        w.begin_array();
        for (const auto& i : gw::all_intents()) {
            w.begin_object();
            w.key("name").string_value(i.name);
            w.key("bit").uint_value(i.bit);
            w.key("value").uint_value(i.value());
            w.key("privileged").bool_value(i.privileged);
            w.end_object();
        }
        w.end_array();
        out << text << '\n';
        return 0;
    }
    for (const auto& i : gw::all_intents()) {
        out << i.name << " = " << i.value() << " (1 << " << int{i.bit} << ')'
            << (i.privileged ? "  privileged: enable it in the Developer Portal first" : "")
            << '\n';
    }
    out << "default (all non-privileged) = " << gw::default_intents << '\n';
    return 0;
}

} // namespace

int run_explain(const explain_options& options, std::ostream& out, std::ostream& err) {
    if (options.intents) {
        return explain_intents(options, out);
    }
    if (!options.code) {
        if (options.json) {
            std::string text;
            gw::detail::json_writer w(text);
            w.begin_array();
            for (const auto& p : gw::all_close_policies()) {
                write_policy_json(w, p);
            }
            w.end_array();
            out << text << '\n';
        } else {
            for (const auto& p : gw::all_close_policies()) {
                print_policy(out, p);
            }
        }
        return 0;
    }

    const std::string_view text = *options.code;
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const auto policy = (ec == std::errc{} && ptr == text.data() + text.size() && value <= 0xffff)
                            ? gw::find_close_policy(static_cast<std::uint16_t>(value))
                            : std::nullopt;
    if (!policy && text == "4006") {
        err << "shardgate explain: 4006 (Session no longer valid) is a voice gateway close code; "
               "the "
               "main gateway has no 4006.\n";
        return 2;
    }
    if (!policy) {
        err << "shardgate explain: '" << text << "' is not a gateway close code shardgate knows.\n"
            << "Known codes: " << known_codes() << ".\n"
            << "Any other code from a server is treated as resumable; run 'shardgate explain' to "
               "see the whole table.\n";
        return 2;
    }
    if (options.json) {
        std::string json;
        gw::detail::json_writer w(json);
        write_policy_json(w, *policy);
        out << json << '\n';
    } else {
        print_policy(out, *policy);
    }
    return 0;
}

} // namespace shardgate::cli
