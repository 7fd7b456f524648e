// The address a sign-up was sent for, kept in memory only, so /check-email can name it
// without putting it in the URL.

let email = '';

export function rememberSignupEmail(value) {
  email = value;
}

export function signupEmail() {
  return email;
}
