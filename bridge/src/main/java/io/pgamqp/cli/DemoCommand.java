package io.pgamqp.cli; final class DemoCommand { private DemoCommand() {} static int run(String[] a) { System.err.println("demo: not built yet"); return 1; } }
