import streamlit as st

st.title("proxy_lab")
