/* placeholder until this module lands */
typedef int drover_placeholder_cli;
