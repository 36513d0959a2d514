<?php
// A PHP page served by drover through php-cgi (see ../php-cgi.ini).
header('Content-Type: text/plain');
echo "Hello from PHP\n";
echo "SCRIPT_NAME=", $_SERVER['SCRIPT_NAME'], "\n";
echo "REQUEST_METHOD=", $_SERVER['REQUEST_METHOD'], "\n";
echo "QUERY_STRING=", $_SERVER['QUERY_STRING'] ?? '', "\n";
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
	$body = file_get_contents('php://input');
	echo "body_len=", strlen($body), "\n";
	echo "body=", $body, "\n";
}
