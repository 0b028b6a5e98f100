/**
 * The align4j launcher: one thin subcommand per job, flags mapped onto config records, exit code 2 with one line for user errors.
 */
package dev.align4j.cli;
