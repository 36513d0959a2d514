EXTRA_DIST += examples/cgi-bin/hello.cgi examples/cgi-bin/env.cgi examples/cgi-bin/counter.cgi
EXTRA_DIST += examples/sites/cgit.ini examples/sites/dokuwiki.ini examples/sites/php-cgi.ini \
	examples/sites/git-http-backend.ini examples/sites/git-and-wiki.ini \
	examples/sites/mediawiki.ini examples/sites/adminer.ini
EXTRA_DIST += examples/fastcgi/php-cgi.ini examples/fastcgi/php/index.php examples/fastcgi/counter.c
if HAVE_FCGI
noinst_PROGRAMS += examples/fastcgi/hello
examples_fastcgi_hello_SOURCES = examples/fastcgi/hello.c
examples_fastcgi_hello_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
examples_fastcgi_hello_LDADD = $(FCGI_LIBS)
endif
if HAVE_FCGI
noinst_PROGRAMS += examples/fastcgi/counter
examples_fastcgi_counter_SOURCES = examples/fastcgi/counter.c
examples_fastcgi_counter_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
examples_fastcgi_counter_LDADD = $(FCGI_LIBS) -lcrypto
endif
