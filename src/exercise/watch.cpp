#include "exercise/watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "exercise/workspace.hpp"

namespace dp::ex {

namespace {

// The terminal in "one key at a time, no echo" mode for as long as this object lives. Ctrl-C
// arrives as a key (ISIG off), so the terminal is always put back the way it was.
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Watches the folder of the reader's file; reports saves of that one file.
class FileWatch {
 public:
  explicit FileWatch(const std::filesystem::path& file) : name_(file.filename().string()) {
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ >= 0 && inotify_add_watch(fd_, file.parent_path().c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~FileWatch() {
    if (fd_ >= 0) close(fd_);
  }
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;
  int fd() const { return fd_; }
  // Reads the pending events; true if one of them is a save of our file.
  bool drain() {
    alignas(inotify_event) char buffer[4096];
    bool saved = false;
    ssize_t got;
    while ((got = read(fd_, buffer, sizeof buffer)) > 0)
      for (char* p = buffer; p < buffer + got;) {
        const auto* e = reinterpret_cast<const inotify_event*>(p);
        if (e->len > 0 && name_ == e->name) saved = true;
        p += sizeof(inotify_event) + e->len;
      }
    return saved;
  }

 private:
  std::string name_;
  int fd_ = -1;
};

constexpr int kDebounceMs = 150;  // an editor's save can be several writes: wait for quiet

void print_keys(std::ostream& out, const std::string& file) {
  out << fmt::format("\nwatching {}: save it to re-check.  keys: h hint · c check · r reset · l list · q quit\n", file);
  out.flush();
}

}  // namespace

int watch_exercise(const ExerciseDef& def, const CheckCommand& command, std::ostream& out, std::ostream& err) {
  const auto file = reader_file(def.info);
  if (!std::filesystem::exists(file))
    throw Error(fmt::format("{} is not started (no {}); first: dontpanic exercise start {}", def.info.id,
                            file.string(), def.info.id));
  const auto check = [&] { return run_check(def, command, out, err); };
  int last = check();

  FileWatch watch(file);
  RawTerminal terminal;
  if (!terminal.active() || watch.fd() < 0) {
    out << (watch.fd() < 0 ? "(inotify is not available here, so saves are not seen: "
                           : "(no terminal on stdin, so single keys are not read: ")
        << "press Enter to re-check; type q and Enter to quit)\n";
    out.flush();
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "q") break;
      last = check();
      out << "(Enter to re-check, q and Enter to quit)\n";
      out.flush();
    }
    return last;
  }

  print_keys(out, file.string());
  using Clock = std::chrono::steady_clock;
  bool pending = false;  // a save seen, not yet checked
  Clock::time_point saved_at{};
  while (true) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {watch.fd(), POLLIN, 0}};
    const int timeout = pending ? kDebounceMs : -1;
    if (poll(fds, 2, timeout) < 0) continue;
    if ((fds[1].revents & POLLIN) && watch.drain()) {
      pending = true;
      saved_at = Clock::now();
    }
    if (pending && Clock::now() - saved_at >= std::chrono::milliseconds(kDebounceMs)) {
      pending = false;
      out << "\n— saved: checking again —\n";
      last = check();
      print_keys(out, file.string());
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    char key = 0;
    if (read(STDIN_FILENO, &key, 1) != 1) return last;  // the terminal went away
    switch (key) {
      case 'q': case 3: case 4:  // q, Ctrl-C, Ctrl-D
        return last;
      case 'h':
        out << '\n';
        print_hint(def, std::nullopt, out);
        break;
      case 'c':
        out << '\n';
        last = check();
        break;
      case 'l':
        out << '\n';
        print_list({}, false, out);
        break;
      case 'r': {
        out << "\nreset your file to the baseline? your version is kept as a .bak file [y/N] ";
        out.flush();
        char answer = 0;
        if (read(STDIN_FILENO, &answer, 1) == 1 && (answer == 'y' || answer == 'Y')) {
          out << "y\n";
          print_reset(def, out);
          watch.drain();  // our own write is not the reader's save
        } else {
          out << "no: nothing changed\n";
        }
        break;
      }
      default:
        continue;
    }
    print_keys(out, file.string());
  }
}

}  // namespace dp::ex
