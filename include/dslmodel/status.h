// Status and Result<T>: expected failures as values.
//
// A Status is either ok or carries an error code and a human message. Result<T> holds a T or a
// non-ok Status. Both are cheap to move and safe to use from any thread (they are plain values).
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace dslmodel {

enum class ErrorCode {
  kOk = 0,
  kNotFound,         // a file, directory or record does not exist
  kInvalidArgument,  // bad input from a user: flag, environment variable, config key
  kCorrupt,          // data exists but cannot be understood
  kIo,               // the operating system refused a read or write
  kUnavailable,      // a peer (actuator, server) could not be reached or failed
  kConflict,         // the state changed under us (a claim lost, an item edited)
  kTimeout,          // an operation ran out of time
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Holds a value or an error. REQUIRES: value() only when ok(); status() any time.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) std::abort();   // an ok Status carries no value
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dslmodel
