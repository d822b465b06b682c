// The engine's worker threads: one pool for the process, started on first use, so a parallel section costs
// a queue push and a wake-up, not a thread start and join per chunk (which made two threads slower than one
// on small images). The caller runs chunk 0 itself and then helps with whatever is queued until its own
// chunks are done: a parallel_for inside a chunk, or many callers at once (the addon's libuv threads), can
// never wait on a worker that is waiting on them.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "medpsim/kernels.hpp"

namespace medpsim {
namespace detail {
namespace {

struct Group {
  std::atomic<int> remaining;
  std::mutex error_mutex;
  std::exception_ptr error;
};

struct Task {
  ChunkFn run;
  void* context;
  int chunk;
  Group* group;
};

class Pool {
 public:
  // Never destroyed (see run_chunks): the workers live as long as the process.
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this] { work(); }).detach();
  }

  void run(int chunks, ChunkFn fn, void* context) {
    Group group;
    group.remaining.store(chunks - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (int c = 1; c < chunks; ++c) queue_.push_back({fn, context, c, &group});
    }
    wake_.notify_all();
    try {
      fn(context, 0);
    } catch (...) {
      std::lock_guard<std::mutex> lock(group.error_mutex);
      group.error = std::current_exception();
    }
    // Even after a throw: the queued chunks use the caller's stack, so they must be done before it unwinds.
    while (group.remaining.load() > 0) {
      Task task{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (queue_.empty()) {
          done_.wait(lock, [&] { return group.remaining.load() == 0 || !queue_.empty(); });
          continue;
        }
        task = queue_.front();
        queue_.pop_front();
      }
      execute(task);
    }
    if (group.error) std::rethrow_exception(group.error);
  }

 private:
  void execute(const Task& task) {
    try {
      task.run(task.context, task.chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lock(task.group->error_mutex);
      if (!task.group->error) task.group->error = std::current_exception();
    }
    if (task.group->remaining.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);  // the waiter checks `remaining` under this lock
      done_.notify_all();
    }
  }

  void work() {
    for (;;) {
      Task task{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        task = queue_.front();
        queue_.pop_front();
      }
      execute(task);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<Task> queue_;
};

}  // namespace

int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void run_chunks(int chunks, ChunkFn fn, void* context) {
  // With the caller, one thread per core. Leaked on purpose: joining workers in a static destructor at exit
  // could wait on a caller that is gone.
  static Pool* const pool = new Pool(hardware_threads() - 1);
  pool->run(chunks, fn, context);
}

}  // namespace detail
}  // namespace medpsim
