#include "stop_signal.hpp"

#include <csignal>

namespace shardgate::cli {
namespace {

volatile std::sig_atomic_t stop_signal = 0; // NOLINT(*-avoid-non-const-global-variables)

extern "C" void note_stop_signal(int /*signal*/) {
    stop_signal = 1;
}

} // namespace

struct stop_signal_guard::saved {
    struct sigaction old_int {};
    struct sigaction old_term {};
};

stop_signal_guard::stop_signal_guard()
    : saved_(new saved) { // NOLINT(cppcoreguidelines-owning-memory): freed in the destructor
    stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = note_stop_signal; // NOLINT(*-union-access): POSIX API
    sigemptyset(&action.sa_mask);
    (void)::sigaction(SIGINT, &action, &saved_->old_int);
    (void)::sigaction(SIGTERM, &action, &saved_->old_term);
}

stop_signal_guard::~stop_signal_guard() {
    (void)::sigaction(SIGINT, &saved_->old_int, nullptr);
    (void)::sigaction(SIGTERM, &saved_->old_term, nullptr);
    delete saved_; // NOLINT(cppcoreguidelines-owning-memory)
}

bool stop_signal_guard::received() noexcept {
    return stop_signal != 0;
}

} // namespace shardgate::cli
