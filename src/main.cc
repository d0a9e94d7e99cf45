#include <string>
#include <vector>

#include "cli.h"
#include "console.h"

int main(int argc, char** argv) {
  return treesync::RunCli(platform::Arguments(argc, argv));
}
