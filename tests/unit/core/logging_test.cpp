#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "broker/core/logging.hpp"

using namespace credbroker;

TEST(logging, configuring_again_replaces_the_logger) {
  // The server configures once; tests and embedders may do it again (it used to throw
  // "logger with name 'credbroker' already exists").
  ASSERT_TRUE(configure_logging("info", log_format::standard).ok());
  auto first = spdlog::default_logger();
  ASSERT_TRUE(configure_logging("warn", log_format::json).ok());
  EXPECT_NE(spdlog::default_logger(), first);
  EXPECT_EQ(spdlog::default_logger()->name(), "credbroker");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  ASSERT_TRUE(configure_logging("info", log_format::standard).ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST(logging, an_unknown_level_names_the_accepted_ones) {
  auto s = configure_logging("verbose", log_format::standard);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().message, "log_level: expected one of trace, debug, info, warn, error, off; got \"verbose\"");
}
