#include "broker/core/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace credbroker {
namespace {

// One JSON object per line: {"@timestamp":"...","@level":"info","@message":"..."} (Vault's keys).
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto t = std::chrono::system_clock::to_time_t(msg.time);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[64];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    nlohmann::json line = {
        {"@timestamp", fmt::format("{}.{:06d}Z", std::string_view(stamp, n), us)},
        {"@level", std::string(spdlog::level::to_string_view(msg.level).data(),
                               spdlog::level::to_string_view(msg.level).size())},
        {"@message", std::string(msg.payload.data(), msg.payload.size())},
    };
    const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

}  // namespace

status configure_logging(const std::string& level, log_format format) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(errc::invalid_request,
                      "log_level: expected one of trace, debug, info, warn, error, off; got \"" + level + "\"");
  }
  // Built directly (the factories throw if the name is registered already), so a second call
  // replaces the first: set_default_logger overwrites the registry's entry. Call it before other
  // threads log: spdlog reads the default logger without a lock.
  auto logger = std::make_shared<spdlog::logger>("credbroker", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  spdlog::set_default_logger(logger);
  if (format == log_format::json) {
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%l] %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  return ok_v;
}

}  // namespace credbroker
