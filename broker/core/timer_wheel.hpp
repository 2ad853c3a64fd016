#pragma once
// timer_wheel: a hierarchical timing wheel over integer ticks (Varghese & Lauck; cf. Kafka's
// TimingWheel and Linux's timer wheel). No clock, no locks, no allocation per operation after warm-up.
//
// SPEC
//   schedule(due, payload) -> handle      O(1)
//   cancel(handle) -> bool                O(1); false if the entry already fired or was cancelled
//   reschedule(handle, due) -> handle     O(1) (cancel + schedule, same payload)
//   advance(target, fire)                 fires every entry with due <= target, each exactly once,
//                                         and never one with due > target ("never early"); the
//                                         wheel's now() becomes target. Cost: O(entries fired or
//                                         moved down a level + non-empty buckets visited) — it skips
//                                         empty time instead of stepping through it tick by tick.
//   next_wakeup() -> tick                 a tick <= the earliest due of any pending entry (so a timer
//                                         armed for it never fires late); nullopt if nothing pends
// Scheduling with due <= now() is allowed: the entry fires at the next advance().
//
// LAYOUT
//   Level L has 256 buckets; a bucket of level L spans 256^L ticks. An entry with due > now lives at
//   the lowest level L where due and now agree on every bit above level L's 8 bits, in the bucket
//   numbered by due's 8 bits of level L:
//       L    = lowest L with (due >> 8(L+1)) == (now >> 8(L+1))
//       slot = (due >> 8L) & 255
//   INVARIANT: every pending entry with due > now is in bucket (L, slot) above — so its bucket index
//   is a pure function of (due, now) and nodes need not store it — and that slot is strictly greater
//   than now's own slot at level L. Entries with due <= now wait in the `ready` list.
//   Levels above 0 are created when first needed (lazily); at most 8 exist for 64-bit ticks.
//
// WORKED EXAMPLE (ticks in hex)
//   now = 0x0100. schedule(A, due 0x0105) -> level 0, slot 0x05. schedule(B, due 0x0342) -> due and
//   now differ in bits 8..15, agree above 16 -> level 1, slot 0x03.
//   advance(0x0300): level 0 has A -> now = 0x0105, fire A. Level 0 is empty; level 1's first
//   non-empty slot is 0x03, whose bucket starts at 0x0300 <= target -> now = 0x0300, B moves down to
//   level 0 slot 0x42 (its due is still ahead). No more buckets start <= 0x0300: now = 0x0300.
//   advance(0x0341): the next bucket starts at 0x0342 > 0x0341 -> nothing fires; now = 0x0341.
//   advance(0x0342): level 0 slot 0x42 -> now = 0x0342, fire B.
//   Why it is never early: a bucket is opened only when now reaches its start, and an entry in it is
//   fired only if due <= now; otherwise it moves to a lower level relative to the new now.
//
// Thread: none of its own and no lock: one caller at a time. The scheduler (broker/core/scheduler.hpp)
// calls it under its wheel lock.
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace credbroker {

class timer_wheel {
 public:
  using tick = std::uint64_t;
  struct handle {
    std::uint32_t index = UINT32_MAX;
    std::uint32_t generation = 0;
    bool valid() const { return index != UINT32_MAX; }
    bool operator==(const handle&) const = default;
  };

  explicit timer_wheel(tick start = 0) : now_(start) { ready_ = new_sentinel(); }

  tick now() const { return now_; }
  std::size_t size() const { return size_; }

  handle schedule(tick due, std::uint64_t payload) {
    const std::uint32_t n = allocate();
    nodes_[n].due = due;
    nodes_[n].payload = payload;
    place(n);
    ++size_;
    return handle{n, nodes_[n].generation};
  }

  bool cancel(handle h) {
    if (!h.valid() || h.index >= nodes_.size()) return false;
    node& x = nodes_[h.index];
    if (x.generation != h.generation || x.prev == free_mark) return false;
    unlink(h.index, bucket_sentinel_of(x.due));
    release(h.index);
    --size_;
    return true;
  }

  handle reschedule(handle h, tick due) {
    if (!h.valid() || h.index >= nodes_.size()) return {};
    const node& x = nodes_[h.index];
    if (x.generation != h.generation || x.prev == free_mark) return {};
    const std::uint64_t payload = x.payload;
    cancel(h);
    return schedule(due, payload);
  }

  std::optional<tick> next_wakeup() const {
    if (nodes_[ready_].next != ready_) return now_;
    for (std::size_t l = 0; l < levels_.size(); ++l) {
      const int s = first_slot(levels_[l]);
      if (s >= 0) return bucket_start(l, static_cast<unsigned>(s));
    }
    return std::nullopt;
  }

  // fire(payload, due) — or fire(payload, due, handle), with the handle schedule() returned for the
  // entry — is called for every entry with due <= target, in nondecreasing order of the
  // bucket that held it (entries of one bucket in no particular order). fire must not call back into
  // the wheel. Returns the number fired.
  template <class Fire>
  std::size_t advance(tick target, Fire&& fire) {
    std::size_t fired = 0;
    if (target < now_) target = now_;
    drain_ready(fire, fired);
    for (;;) {
      std::size_t level = levels_.size();
      int slot = -1;
      for (std::size_t l = 0; l < levels_.size(); ++l) {
        slot = first_slot(levels_[l]);
        if (slot >= 0) {
          level = l;
          break;
        }
      }
      if (level == levels_.size()) break;
      const tick start = bucket_start(level, static_cast<unsigned>(slot));
      if (start > target) break;
      now_ = start;
      // Open the bucket: fire what is due, move the rest down relative to the new now.
      level_state& lv = levels_[level];
      const std::uint32_t s = lv.sentinel + static_cast<std::uint32_t>(slot);
      clear_bit(lv, static_cast<unsigned>(slot));
      std::uint32_t n = nodes_[s].next;
      nodes_[s].next = nodes_[s].prev = s;
      while (n != s) {
        const std::uint32_t next = nodes_[n].next;
        if (nodes_[n].due <= now_) {
          fire_node(n, fire, fired);
        } else {
          place(n);
        }
        n = next;
      }
    }
    now_ = target;
    return fired;
  }

  // Bytes held per pending entry (node), for memory accounting.
  static constexpr std::size_t bytes_per_entry() { return sizeof(node); }

 private:
  static constexpr std::uint32_t free_mark = UINT32_MAX - 1;  // prev of a free node
  static constexpr unsigned bits = 8;
  static constexpr unsigned slots = 1u << bits;

  struct node {
    tick due = 0;
    std::uint64_t payload = 0;
    std::uint32_t prev = 0, next = 0;  // intrusive list; sentinels are nodes too
    std::uint32_t generation = 0;
  };
  struct level_state {
    std::uint32_t sentinel = 0;  // index of slot 0's sentinel; slots are consecutive
    std::array<std::uint64_t, slots / 64> bitmap{};
  };

  std::uint32_t new_sentinel() {
    const auto i = static_cast<std::uint32_t>(nodes_.size());
    nodes_.push_back(node{0, 0, i, i, 0});
    return i;
  }

  void add_level() {
    level_state lv;
    lv.sentinel = static_cast<std::uint32_t>(nodes_.size());
    for (unsigned i = 0; i < slots; ++i) new_sentinel();
    levels_.push_back(lv);
  }

  std::uint32_t allocate() {
    if (free_head_ != UINT32_MAX) {
      const std::uint32_t n = free_head_;
      free_head_ = nodes_[n].next;
      return n;
    }
    nodes_.push_back(node{});
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  void release(std::uint32_t n) {
    node& x = nodes_[n];
    ++x.generation;
    x.prev = free_mark;
    x.next = free_head_;
    free_head_ = n;
  }

  // The level for a due > now_ (see LAYOUT).
  unsigned level_of(tick due) const {
    const tick diff = due ^ now_;
    return static_cast<unsigned>((63 - std::countl_zero(diff)) / bits);
  }

  tick bucket_start(std::size_t level, unsigned slot) const {
    const unsigned shift = static_cast<unsigned>(level) * bits;
    const unsigned above = shift + bits;
    const tick high = above >= 64 ? 0 : (now_ >> above) << above;
    return high | (static_cast<tick>(slot) << shift);
  }

  // The sentinel of the bucket that holds an entry with this due (ready_ if due <= now_).
  std::uint32_t bucket_sentinel_of(tick due) const {
    if (due <= now_) return ready_;
    const unsigned l = level_of(due);
    return levels_[l].sentinel + static_cast<std::uint32_t>((due >> (l * bits)) & (slots - 1));
  }

  void place(std::uint32_t n) {
    const tick due = nodes_[n].due;
    std::uint32_t s;
    if (due <= now_) {
      s = ready_;
    } else {
      const unsigned l = level_of(due);
      while (levels_.size() <= l) add_level();
      const auto slot = static_cast<unsigned>((due >> (l * bits)) & (slots - 1));
      s = levels_[l].sentinel + slot;
      levels_[l].bitmap[slot / 64] |= std::uint64_t{1} << (slot % 64);
    }
    // Insert at the tail of the bucket list.
    node& sen = nodes_[s];
    nodes_[n].prev = sen.prev;
    nodes_[n].next = s;
    nodes_[sen.prev].next = n;
    sen.prev = n;
  }

  void unlink(std::uint32_t n, std::uint32_t sentinel) {
    node& x = nodes_[n];
    nodes_[x.prev].next = x.next;
    nodes_[x.next].prev = x.prev;
    if (sentinel != ready_ && nodes_[sentinel].next == sentinel) {
      // The bucket became empty: clear its bit.
      for (auto& lv : levels_) {
        if (sentinel >= lv.sentinel && sentinel < lv.sentinel + slots) {
          clear_bit(lv, sentinel - lv.sentinel);
          break;
        }
      }
    }
  }

  static void clear_bit(level_state& lv, unsigned slot) { lv.bitmap[slot / 64] &= ~(std::uint64_t{1} << (slot % 64)); }

  static int first_slot(const level_state& lv) {
    for (unsigned w = 0; w < lv.bitmap.size(); ++w) {
      if (lv.bitmap[w] != 0) return static_cast<int>(w * 64 + static_cast<unsigned>(std::countr_zero(lv.bitmap[w])));
    }
    return -1;
  }

  template <class Fire>
  void drain_ready(Fire& fire, std::size_t& fired) {
    std::uint32_t n = nodes_[ready_].next;
    nodes_[ready_].next = nodes_[ready_].prev = ready_;
    while (n != ready_) {
      const std::uint32_t next = nodes_[n].next;
      fire_node(n, fire, fired);
      n = next;
    }
  }

  template <class Fire>
  void fire_node(std::uint32_t n, Fire& fire, std::size_t& fired) {
    const std::uint64_t payload = nodes_[n].payload;
    const tick due = nodes_[n].due;
    const handle h{n, nodes_[n].generation};
    release(n);
    --size_;
    ++fired;
    if constexpr (std::is_invocable_v<Fire&, std::uint64_t, tick, handle>) {
      fire(payload, due, h);
    } else {
      fire(payload, due);
    }
  }

  tick now_;
  std::uint32_t ready_ = 0;
  std::vector<node> nodes_;
  std::vector<level_state> levels_;
  std::uint32_t free_head_ = UINT32_MAX;
  std::size_t size_ = 0;
};

}  // namespace credbroker
