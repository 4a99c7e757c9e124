from shared.wordlists import common_passwords


def test_the_common_password_list_ships_and_is_case_folded() -> None:
    shipped = common_passwords()
    assert len(shipped) > 1000
    assert {"123456", "password", "qwerty"} <= shipped
    assert all(p == p.casefold() and p == p.strip() and p for p in shipped)
