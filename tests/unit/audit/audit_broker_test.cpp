// audit_broker: the fail-closed rule with fake devices — an event counts as recorded when at least
// one device recorded it; with devices enabled and none able, it is an error and counted
// (vault_audit_log_request_failure / _response_failure); a queued (socket) device is waited for only
// when no direct device recorded the entry.
#include <gtest/gtest.h>

#include <atomic>

#include "broker/audit/audit_broker.hpp"

using namespace credbroker;
using namespace credbroker::audit;

namespace {

// A direct or queued sink that records into a vector, or fails.
class fake_sink final : public sink {
 public:
  fake_sink(bool works, bool is_direct) : works_(works), direct_(is_direct) {}
  bool direct() const override { return direct_; }
  status write(std::string_view line) override {
    ++writes;
    if (!works_) return make_error(errc::unavailable, "fake failure");
    lines.emplace_back(line);
    return ok_v;
  }
  std::shared_ptr<pending_write> submit(std::string line) override {
    struct pending final : pending_write {
      pending(fake_sink& s, std::string l) : sink(s), line(std::move(l)) {}
      bool wait() override {
        ++sink.waits;
        return sink.write(line).ok();
      }
      fake_sink& sink;
      std::string line;
    };
    ++submits;
    return std::make_shared<pending>(*this, std::move(line));
  }
  status reopen() override { return ok_v; }

  bool works_;
  bool direct_;
  std::vector<std::string> lines;
  int writes = 0, submits = 0, waits = 0;
};

struct fake_device {
  fake_sink* sink;
  std::shared_ptr<const device> d;
};

fake_device make(const std::string& path, bool works, bool is_direct = true) {
  auto s = std::make_unique<fake_sink>(works, is_direct);
  fake_sink* raw = s.get();
  device_entry e;
  e.path = path;
  e.type = is_direct ? "file" : "socket";
  return {raw, std::make_shared<device>(e, format_options{}, salt(secret("s-" + path)), std::move(s))};
}

log_input event() {
  log_input in;
  in.request.id = "id";
  in.request.operation = "read";
  in.request.path = "database/creds/app";
  in.response = response_record{};
  return in;
}

class audit_broker_test : public testing::Test {
 protected:
  fake_clock clock_;
  audit_broker broker_{clock_};
};

TEST_F(audit_broker_test, without_devices_everything_passes_and_nothing_is_counted) {
  EXPECT_FALSE(broker_.enabled());
  EXPECT_TRUE(broker_.log_request(event()));
  EXPECT_TRUE(broker_.log_response(event()));
  EXPECT_EQ(broker_.failures().request_failure, 0u);
  EXPECT_EQ(broker_.failures().response_failure, 0u);
}

TEST_F(audit_broker_test, fail_closed_table) {
  struct row {
    const char* name;
    std::vector<std::pair<bool, bool>> devices;  // (works, direct)
    bool recorded;
  };
  const std::vector<row> rows = {
      {"one working file", {{true, true}}, true},
      {"one failing file", {{false, true}}, false},
      {"a failing and a working file", {{false, true}, {true, true}}, true},
      {"two failing files", {{false, true}, {false, true}}, false},
      {"one working socket", {{true, false}}, true},
      {"one failing socket", {{false, false}}, false},
      {"a failing file and a working socket", {{false, true}, {true, false}}, true},
      {"a failing socket and a failing file", {{false, false}, {false, true}}, false},
      {"two sockets, the first failing", {{false, false}, {true, false}}, true},
  };
  std::uint64_t req_failures = 0, resp_failures = 0;
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    audit_broker::device_set set;
    std::vector<fake_sink*> sinks;
    int i = 0;
    for (auto [works, direct] : r.devices) {
      auto d = make("d" + std::to_string(i++) + "/", works, direct);
      sinks.push_back(d.sink);
      set.push_back(d.d);
    }
    broker_.set_devices(set);
    EXPECT_TRUE(broker_.enabled());
    const status rq = broker_.log_request(event());
    const status rs = broker_.log_response(event());
    EXPECT_EQ(rq.ok(), r.recorded);
    EXPECT_EQ(rs.ok(), r.recorded);
    if (!r.recorded) {
      ++req_failures;
      ++resp_failures;
      EXPECT_EQ(rq.err().message, "no audit device recorded the request");
      EXPECT_EQ(rs.err().message, "no audit device recorded the response");
    }
    EXPECT_EQ(broker_.failures().request_failure, req_failures);
    EXPECT_EQ(broker_.failures().response_failure, resp_failures);
    // Every working direct device has both entries.
    for (std::size_t k = 0; k < sinks.size(); ++k) {
      if (sinks[k]->direct_ && sinks[k]->works_) {
        EXPECT_EQ(sinks[k]->lines.size(), 2u);
      }
    }
  }
}

TEST_F(audit_broker_test, a_socket_is_not_waited_for_when_a_file_recorded_the_entry) {
  auto file = make("file/", true, true);
  auto sock = make("socket/", true, false);
  broker_.set_devices({file.d, sock.d});
  ASSERT_TRUE(broker_.log_request(event()));
  EXPECT_EQ(sock.sink->submits, 1);  // handed the line ...
  EXPECT_EQ(sock.sink->waits, 0);    // ... but nobody waited for it
  auto failing_file = make("file/", false, true);
  broker_.set_devices({failing_file.d, sock.d});
  ASSERT_TRUE(broker_.log_request(event()));
  EXPECT_EQ(sock.sink->waits, 1);  // the file failed: the socket decides
}

TEST_F(audit_broker_test, each_device_formats_with_its_own_salt) {
  auto a = make("a/", true);
  auto b = make("b/", true);
  broker_.set_devices({a.d, b.d});
  log_input in = event();
  in.request.client_token = secret("hvs.TOKEN");
  ASSERT_TRUE(broker_.log_request(in));
  ASSERT_EQ(a.sink->lines.size(), 1u);
  ASSERT_EQ(b.sink->lines.size(), 1u);
  EXPECT_NE(a.sink->lines[0].find(salt(secret("s-a/")).hmac("hvs.TOKEN")), std::string::npos);
  EXPECT_NE(b.sink->lines[0].find(salt(secret("s-b/")).hmac("hvs.TOKEN")), std::string::npos);
  EXPECT_EQ(a.sink->lines[0].find("hvs.TOKEN"), std::string::npos);
  EXPECT_EQ(a.sink->lines[0].back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(a.sink->lines[0])["type"], "request");
}

TEST_F(audit_broker_test, an_event_uses_the_set_it_started_with_and_removal_disables) {
  auto a = make("a/", true);
  broker_.set_devices({a.d});
  broker_.set_devices({});
  EXPECT_FALSE(broker_.enabled());
  EXPECT_TRUE(broker_.log_request(event()));
  EXPECT_TRUE(a.sink->lines.empty());
}

}  // namespace
