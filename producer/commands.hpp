#pragma once
// The subcommands of beacon-producer, one file each. Each returns the exit
// code of SPEC.md: 0 ok, 2 bad input / unknown job, 3 unreachable.
namespace beacon::producer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInternal = 1;     // an unexpected exception (a bug), reported, never an abort
inline constexpr int kExitUnreachable = 3;  // also: the database is not migrated yet
inline constexpr int kExitUnconfirmed = 4;  // submit: some messages never confirmed by the broker

int migrate(int argc, char** argv);
int submit(int argc, char** argv);
int status(int argc, char** argv);
int cancel(int argc, char** argv);
int export_rows(int argc, char** argv);
int report(int argc, char** argv);

}  // namespace beacon::producer
