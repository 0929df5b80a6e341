#include "cli/cli.h"

#include <stdio.h>

int cmd_simulate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("vigil simulate: not yet\n", stderr);
    return 1;
}
