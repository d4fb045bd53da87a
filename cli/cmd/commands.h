/* commands.h — the subcommands main() dispatches to. */
#ifndef MEMATTACH_CLI_H
#define MEMATTACH_CLI_H

int ma_run_main(int argc, char **argv);
int ma_report_main(int argc, char **argv);
int ma_attach_main(int argc, char **argv);
int ma_live_main(int argc, char **argv);
int ma_symbolize_main(int argc, char **argv);
/* hidden: the receiver of the Python package's in-process sessions */
int ma_receive_main(int argc, char **argv);

#endif
