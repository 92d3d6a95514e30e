// The value types that the job state machine (job/) and the policies
// (policy/) share, so that neither folder includes the other's headers for
// them. Header only; part of ebsp_core.
#ifndef EBSP_LIB_CORE_TYPES_H_
#define EBSP_LIB_CORE_TYPES_H_

#include <cstdint>

namespace ebsp::core {

// Chosen by the caller of JobState::Register (the service draws random
// non-zero ids; the simulator numbers its workers). Never 0 on the wire.
using WorkerId = uint64_t;

// Where a live worker is in the job's protocol.
//
//                Register (round in progress)
//                        |
//                        v
//                   +---------+  barrier of the current round releases
//                   | Pending |-------------------------------+
//                   +---------+                               |
//                                                             v
//   Register (no round in progress) ---------------->  +---------+
//                                                      | Running |<------+
//          +------------------------------------------ +---------+       |
//          | ArriveAtBarrier(round)          WaitForClock |  ^           |
//          | once done >= target         (SSP only)      v  | released  |
//          v                                    +--------------+        |
//   +-----------+                               | WaitingClock |        |
//   | AtBarrier |                               +--------------+        |
//   +-----------+  the last live member arrives (or leaves): release ---+
//
// A Pending worker waits at the barrier of the current round (its call is
// parked, its phase stays Pending) and runs from the next round on. Leave or
// a lease eviction removes a worker from any phase. Rounds exist
// under BSP, ElasticBSP and LOCAL_STEPS; ASP and SSP keep round 0 and never
// use Pending or AtBarrier; only SSP uses WaitingClock.
enum class WorkerPhase { kPending, kRunning, kAtBarrier, kWaitingClock };

// The directive answering a report: go on, synchronize now (the worker
// reached its target), or wait (SSP: too far ahead of the slowest).
enum class SyncAction { kContinue, kSyncNow, kWait };

// What a blocked call waits for: the round's barrier or the SSP clocks.
enum class WaitKind { kBarrier, kClock };

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_TYPES_H_
