// SIGTERM and SIGINT for a server process's own signal thread: blocked in the calling thread
// before any other starts, so every thread inherits the mask and only sigwait() sees them
// (offramp serve and offramp-grpc-front drain on them).
#pragma once

#include <pthread.h>
#include <signal.h>

namespace offramp::server {

inline sigset_t block_stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  return s;
}

}  // namespace offramp::server
