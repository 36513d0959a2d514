EXTRA_DIST += examples/cgi-bin/hello.cgi examples/cgi-bin/env.cgi examples/cgi-bin/counter.cgi
EXTRA_DIST += examples/fastcgi/php-cgi.ini examples/fastcgi/php/index.php
if HAVE_FCGI
noinst_PROGRAMS += examples/fastcgi/hello
examples_fastcgi_hello_SOURCES = examples/fastcgi/hello.c
examples_fastcgi_hello_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
examples_fastcgi_hello_LDADD = $(FCGI_LIBS)
endif
