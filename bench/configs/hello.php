<?php
// The PHP hello of bench/run, served by drover + php-cgi and nginx + php-fpm.
header('Content-Type: text/plain');
echo "Hello from PHP\n";
