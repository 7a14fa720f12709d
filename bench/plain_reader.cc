// The reference for the status benchmark: lists a directory and only opens, reads and closes
// each regular file in it. No parsing. Prints the number of files and bytes read.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dsl_plain_reader DIR\n");
    return 2;
  }
  DIR* d = opendir(argv[1]);
  if (d == nullptr) return 1;
  const int dfd = dirfd(d);
  std::vector<char> buf(1 << 16);
  long files = 0;
  long bytes = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = 0;
    while ((n = read(fd, buf.data(), buf.size())) > 0) bytes += n;
    close(fd);
    ++files;
  }
  closedir(d);
  std::printf("%ld files, %ld bytes\n", files, bytes);
  return 0;
}
