/* placeholder: this suite has not landed yet */
int main(void) { return 77; }
