/* The standalone `chaostracing` binary (`make cli`): the command itself is
 * cli_main() in main.c, shared with the console script pip installs. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
