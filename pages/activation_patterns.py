import streamlit as st
st.title('activation_patterns')
